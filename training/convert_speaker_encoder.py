"""Convert Resemblyzer's speaker encoder to ONNX once, so alliance runs it without PyTorch.

Usage (PyTorch only here, never at run time):

    python3 -m venv /tmp/speaker-venv
    /tmp/speaker-venv/bin/pip install torch==2.13.0 resemblyzer==0.1.4 'setuptools<81' onnx onnxruntime
    /tmp/speaker-venv/bin/python training/convert_speaker_encoder.py

Reads ``pretrained.pt`` from the installed Resemblyzer 0.1.4 wheel (Apache-2.0, Resemble AI),
exports the 3-layer LSTM + linear + ReLU + L2 norm with dynamic batch and frame axes, stores
the weights as float16 (cast back to float32 when onnxruntime loads the graph, so arithmetic
stays float32), and checks numerically: (1) ``alliance.core.audio.features.mel_frames``
against Resemblyzer's librosa ``wav_to_mel_spectrogram``; (2) ONNX embeddings against the
PyTorch model's. Writes ``src/alliance/core/audio/models/speaker-encoder.onnx`` and prints
its SHA-256 for ``alliance.core.audio.models.SPEAKER_SHA256`` and the model card.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alliance.core.audio.features import mel_frames, volume_gain  # noqa: E402

OUT = ROOT / "src" / "alliance" / "core" / "audio" / "models" / "speaker-encoder.onnx"
SENTENCE = "I hear that this week has been hard, and I wonder what made it so heavy for you."


def speech_sample() -> np.ndarray:
    """A few seconds of synthetic speech (espeak-ng), or a chirp where it is missing."""
    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "s.wav"
            subprocess.run(["espeak-ng", "-w", str(wav), SENTENCE], check=True)
            import librosa

            y, _ = librosa.load(str(wav), sr=16_000)
            return y.astype(np.float32)
    t = np.arange(48_000) / 16_000
    return (0.1 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)


def check_mels(wav: np.ndarray) -> np.ndarray:
    from resemblyzer.audio import wav_to_mel_spectrogram

    ours, theirs = mel_frames(wav), wav_to_mel_spectrogram(wav)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    err = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
    print(f"mel: shape {ours.shape}, max error {err:.2e} of the largest value")
    assert err < 1e-4
    return theirs


def export(path: Path) -> object:
    import torch
    from resemblyzer import VoiceEncoder

    model = VoiceEncoder(device="cpu", verbose=False).eval()
    dummy = torch.rand(2, 160, 40)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["mels"],
        output_names=["embeds"],
        dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embeds": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return model


def weights_to_float16(src: Path, dst: Path) -> None:
    """Store float32 initializers as float16 behind Cast nodes (half the file, same maths)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or len(init.dims) == 0:
            continue
        half = numpy_helper.from_array(
            numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16"
        )
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def check_onnx(model: object, path: Path, mels: np.ndarray) -> None:
    import onnxruntime as ort
    import torch

    windows = np.stack([mels[i : i + 160] for i in range(0, len(mels) - 160, 40)])
    short = mels[None, :80]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (windows, short):
        with torch.no_grad():
            want = model(torch.from_numpy(batch)).numpy()  # type: ignore[operator]
        got = sess.run(None, {"mels": batch})[0]
        cos = np.sum(want * got, axis=1)
        print(
            f"onnx vs torch: {len(batch)} windows of {batch.shape[1]} frames, min cosine {cos.min():.6f}"
        )
        assert cos.min() > 0.9999


def main() -> None:
    wav = speech_sample()
    mels = check_mels(wav * volume_gain(wav))
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "fp32.onnx"
        model = export(full)
        weights_to_float16(full, OUT)
        print(f"fp32 {full.stat().st_size:,} bytes -> fp16 weights {OUT.stat().st_size:,} bytes")
    check_onnx(model, OUT, mels)
    print(f"sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}  {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
