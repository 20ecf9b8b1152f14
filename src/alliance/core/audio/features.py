"""Resemblyzer's mel spectrogram in numpy, so the speaker encoder runs without librosa or torch.

Why: the encoder was trained on exactly these features (25 ms Hann windows every 10 ms, 40
Slaney mel bands of the power spectrum, no log) on audio normalised to -30 dBFS; any other
front end shifts its embeddings. ``training/convert_speaker_encoder.py`` checks this against
Resemblyzer's own ``wav_to_mel_spectrogram`` (librosa). Source: Resemblyzer 0.1.4
``hparams.py`` and ``audio.py`` (Apache-2.0).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400  # mel_window_length 25 ms
HOP = 160  # mel_window_step 10 ms
N_MELS = 40  # mel_n_channels
TARGET_DBFS = -30.0  # audio_norm_target_dBFS


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    mel = hz / (200.0 / 3)
    log_part = hz >= 1000.0
    mel[log_part] = 15.0 + np.log(hz[log_part] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = mel * (200.0 / 3)
    log_part = mel >= 15.0
    hz[log_part] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log_part] - 15.0))
    return hz


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(40, 201) Slaney-normalised triangular filters, as ``librosa.filters.mel``."""
    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([8000.0]))[0], N_MELS + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    weights = np.zeros((N_MELS, len(fft_hz)))
    for i in range(N_MELS):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2 : N_MELS + 2] - edges[:N_MELS]))[:, None]
    return weights


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) float32 mel power, centred frames with zero padding (librosa >= 0.10)."""
    padded = np.pad(wav.astype(np.float64), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    if count < 1:
        return np.zeros((0, N_MELS), dtype=np.float32)
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    power = np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2
    return (power @ mel_filters().T).astype(np.float32)


def volume_gain(speech: np.ndarray) -> float:
    """Gain that brings speech up to -30 dBFS (never down), as Resemblyzer's ``normalize_volume``."""
    return gain_for_power(
        float(np.mean(np.square(speech, dtype=np.float64))) if len(speech) else 0.0
    )


def gain_for_power(mean_square: float) -> float:
    """:func:`volume_gain` from the speech's mean square (summed region by region, so a long
    recording's speech is never copied into one array)."""
    if mean_square <= 0:
        return 1.0
    change = TARGET_DBFS - 10 * np.log10(mean_square)
    return float(10 ** (change / 20)) if change > 0 else 1.0
