"""ONNX export through skl2onnx (the optional extra ``clogreg[onnx]``).

:func:`register_onnx_converter` registers a shape calculator and a converter for
:class:`clogreg.LogisticRegression` with skl2onnx (``update_registered_converter``, the
route XGBoost and LightGBM models take through onnxmltools), after which
``skl2onnx.to_onnx(clf, X[:1])`` converts a fitted model, alone or inside a
scikit-learn pipeline. The graph is written out in standard ONNX operators, in the
dtype of the input (float32 or float64, so a float64 model keeps its precision, which
ONNX-ML's ``LinearClassifier`` would not: it computes in float32)::

    z     = MatMul(X, coef_.T) + intercept_
    binary:      probabilities = Softmax(Concat(-z/2, z/2))  # expit(-z), expit(z)
                 label         = classes_[Cast(z > 0)]            # predict's rule
    multinomial: probabilities = Softmax(z, axis=1)
                 label         = classes_[ArgMax(z, axis=1)]      # first maximum

Labels come out as int64 for numeric (and boolean) ``classes_`` and as strings for
string ``classes_``, as for scikit-learn's classifiers. Outputs are plain tensors
(``label``, ``probabilities``); skl2onnx's option ``zipmap=True`` (a list of
{label: probability} dicts; float32 only, as ONNX's ZipMap) and ``nocl`` (labels as
class indices) work as for scikit-learn's classifiers.
"""
from __future__ import annotations

import numpy as np

_ALIAS = "ClogregLogisticRegression"


def register_onnx_converter() -> None:
    """Register clogreg's converter with skl2onnx, so that ``skl2onnx.to_onnx`` works.

    Call it once per process, before converting; calling it again is harmless.
    Needs the optional dependencies ``skl2onnx`` and ``onnx`` (``pip install
    "clogreg[onnx]"``); ``onnxruntime`` runs the converted model.

    Raises
    ------
    ImportError
        If skl2onnx is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import clogreg
    >>> clogreg.register_onnx_converter()  # doctest: +SKIP
    >>> from skl2onnx import to_onnx  # doctest: +SKIP
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> clf = clogreg.LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> onx = to_onnx(clf, X[:1])  # doctest: +SKIP
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> sess = ort.InferenceSession(onx.SerializeToString(),
    ...                             providers=["CPUExecutionProvider"])  # doctest: +SKIP
    >>> label, proba = sess.run(None, {"X": X})  # doctest: +SKIP
    >>> label.tolist()  # doctest: +SKIP
    [0, 0, 1, 1]
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError("ONNX export needs skl2onnx and onnx: "
                          "pip install 'clogreg[onnx]'") from exc

    from ._estimator import LogisticRegression

    update_registered_converter(
        LogisticRegression, _ALIAS, _shape_calculator, _converter, parser=_parser,
        options={"zipmap": [False, True, "columns"], "nocl": [False, True]})


def _parser(scope, model, inputs, custom_parsers=None):
    """One operator with a label and a probabilities output; ZipMap only when asked.

    The default is ``zipmap=False`` (plain tensors, which also carry float64, where
    ONNX's ZipMap takes float32 only); ``zipmap=True`` or ``"columns"`` adds
    skl2onnx's own ZipMap, as for scikit-learn's classifiers.
    """
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    zipmap = scope.get_options(model, {"zipmap": False})["zipmap"]
    operator = scope.declare_local_operator(_ALIAS, model)
    operator.inputs = inputs
    label = scope.declare_local_variable("label", Int64TensorType())
    proba = scope.declare_local_variable("probabilities", inputs[0].type.__class__())
    operator.outputs.extend([label, proba])
    if zipmap is False:
        return operator.outputs
    if isinstance(inputs[0].type, DoubleTensorType):
        raise ValueError(  # noqa: TRY004 (an option that float64 cannot have)
            "ONNX's ZipMap takes float32 probabilities: convert float64 models with "
            "options={'zipmap': False} (the default outside pipelines)")
    from skl2onnx._parse import _apply_zipmap  # what skl2onnx's own classifiers use

    return _apply_zipmap(zipmap, scope, model, inputs[0].type, operator.outputs)


def _shape_calculator(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    input_type = operator.inputs[0].type
    if not isinstance(input_type, (FloatTensorType, DoubleTensorType)):
        raise TypeError(f"clogreg's ONNX converter takes float32 or float64 input, got "
                        f"{type(input_type).__name__}; convert X first "
                        f"(skl2onnx.to_onnx(clf, X[:1].astype(np.float32)))")
    calculate_linear_classifier_output_shapes(operator)
    # probabilities in the input's dtype (float32 or float64), not a default float
    operator.outputs[1].type = input_type.__class__(operator.outputs[1].type.shape)


def _onnx_labels(classes: np.ndarray) -> np.ndarray:
    """classes_ as the label tensor skl2onnx declared: strings or int64."""
    if classes.dtype.kind in "OU":
        return np.array([str(c) for c in classes], dtype=object)
    if classes.dtype.kind == "f" and not np.all(classes == np.round(classes)):
        raise ValueError(f"ONNX labels are int64 or strings; classes_ "
                         f"{classes.tolist()} are not whole numbers")
    if classes.dtype.kind == "u" and classes.max() > np.iinfo(np.int64).max:
        raise ValueError("ONNX labels are int64; classes_ exceed the int64 range")
    return classes.astype(np.int64)


def _converter(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_ops import (
        OnnxAdd,
        OnnxArgMax,
        OnnxCast,
        OnnxConcat,
        OnnxGather,
        OnnxGreater,
        OnnxIdentity,
        OnnxMatMul,
        OnnxMul,
        OnnxNeg,
        OnnxReshape,
        OnnxSoftmax,
    )
    from skl2onnx.common.data_types import guess_numpy_type

    clf = operator.raw_operator
    opv = container.target_opset
    dtype = guess_numpy_type(operator.inputs[0].type)  # np.float32 or np.float64
    X = operator.inputs[0]
    out_label, out_proba = operator.outputs[0], operator.outputs[1]
    coef = np.ascontiguousarray(clf.coef_.T, dtype=dtype)  # (n_features, n_out)
    intercept = np.asarray(clf.intercept_, dtype=dtype)
    if container.get_options(clf, {"nocl": False})["nocl"]:
        labels = np.arange(len(clf.classes_), dtype=np.int64)  # class indices
    else:
        labels = _onnx_labels(np.asarray(clf.classes_))

    z = OnnxAdd(OnnxMatMul(X, coef, op_version=opv), intercept, op_version=opv)
    if coef.shape[1] == 1:
        # (p0, p1) = Softmax(-z/2, z/2) = (expit(-z), expit(z)): each probability with
        # its own relative precision. (1 - p1 would be 0 where p0 is tiny, and
        # onnxruntime's Sigmoid flushes expit(-40) = 4e-18 to 0.)
        half = OnnxMul(z, np.array([0.5], dtype=dtype), op_version=opv)
        proba = OnnxSoftmax(OnnxConcat(OnnxNeg(half, op_version=opv), half, axis=1,
                                       op_version=opv), axis=1, op_version=opv)
        positive = OnnxGreater(z, np.array([0], dtype=dtype), op_version=opv)
        index = OnnxReshape(OnnxCast(positive, to=TensorProto.INT64, op_version=opv),
                            np.array([-1], dtype=np.int64), op_version=opv)
    else:
        proba = OnnxSoftmax(z, axis=1, op_version=opv)
        index = OnnxArgMax(z, axis=1, keepdims=0, op_version=opv)
    label = OnnxGather(labels, index, axis=0, op_version=opv,
                       output_names=[out_label.full_name])
    proba = OnnxIdentity(proba, op_version=opv, output_names=[out_proba.full_name])
    label.add_to(scope, container)
    proba.add_to(scope, container)
