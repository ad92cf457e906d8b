"""DNSMOS P.835 (SIG, BAK, OVRL) and P.808 through the ONNX models shipped in the `speechmos` wheel.

The wheel carries the weights, so these are real scores offline. speechmos scores one file at a time; here the
9.01 s segments of many files go through the ONNX sessions in batches (the models take a batch axis), with the
same segmentation, features and polynomial mapping as speechmos' own per-file call, which the tests check.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

import numpy as np
from tqdm import tqdm

RATE = 16000
#: Seconds of audio per DNSMOS segment (speechmos.dnsmos.INPUT_LENGTH); shorter files are tiled up to it.
SEGMENT_SECONDS = 9.01
COLUMNS = {"ovrl_mos": "dnsmos_ovrl", "sig_mos": "dnsmos_sig", "bak_mos": "dnsmos_bak", "p808_mos": "dnsmos_p808"}


def _model(personalized: bool, threads: int):
    """speechmos' DNSMOS (its features, polynomial mapping and per-file reference call) with ONNX sessions limited
    to the job's threads and on the GPU where onnxruntime has one."""
    import onnxruntime as ort
    from speechmos import dnsmos

    class Sessions(dnsmos.DNSMOS):
        def __init__(self, primary: str, p808: str):  # speechmos' __init__ opens the same two sessions, unlimited
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                         if p in ort.get_available_providers()]
            self.primary_model_path = primary
            self.onnx_sess = ort.InferenceSession(primary, options, providers=providers)
            self.p808_onnx_sess = ort.InferenceSession(p808, options, providers=providers)

    folder = os.path.dirname(os.path.abspath(dnsmos.__file__))
    primary = os.path.join(folder, "pdnsmos_models" if personalized else "dnsmos_models", "sig_bak_ovr.onnx")
    return Sessions(primary, os.path.join(folder, "dnsmos_models", "model_v8.onnx"))


def segments(audio: np.ndarray) -> list[np.ndarray]:
    """The 9.01 s windows, 1 s apart, that DNSMOS averages over (speechmos' segmentation)."""
    length = int(SEGMENT_SECONDS * RATE)
    while len(audio) < length:
        audio = np.append(audio, audio)
    hops = int(np.floor(len(audio) / RATE) - SEGMENT_SECONDS) + 1
    windows = [audio[int(i * RATE): int((i + SEGMENT_SECONDS) * RATE)] for i in range(hops)]
    return [w.astype(np.float32) for w in windows if len(w) >= length]


class Dnsmos:
    def __init__(self, personalized: bool = False, batch_segments: int = 16, threads: int = 1):
        self.model = _model(personalized, threads)
        self.personalized = personalized
        self.batch_segments = batch_segments

    def _run(self, batch: list[np.ndarray]) -> np.ndarray:
        """Rows of [ovrl, sig, bak, p808] for a batch of segments."""
        waves = np.stack(batch)
        mels = np.stack([self.model.audio_melspec(audio=w[:-160]) for w in batch]).astype(np.float32)
        sig_bak_ovr = self.model.onnx_sess.run(None, {"input_1": waves})[0]
        p808 = self.model.p808_onnx_sess.run(None, {"input_1": mels})[0][:, 0]
        sig, bak, ovr = self.model.get_polyfit_val(sig_bak_ovr[:, 0], sig_bak_ovr[:, 1], sig_bak_ovr[:, 2],
                                                    self.personalized)
        return np.stack([ovr, sig, bak, p808], axis=1)

    def score(self, waves: Iterable[np.ndarray], total: int | None = None) -> Iterator[dict[str, float]]:
        """One dict of the four DNSMOS columns per input wave (16 kHz, in [-1, 1]), in input order."""
        pending: list[tuple[int, np.ndarray]] = []  # (file index, segment) not yet scored
        results: dict[int, list[np.ndarray]] = {}
        counts: dict[int, int] = {}
        next_out = 0
        progress = tqdm(total=total, desc="dnsmos", unit="file", file=sys.stderr, mininterval=10)
        for index, wave in enumerate(waves):
            parts = segments(np.asarray(wave, np.float32))
            counts[index] = len(parts)
            results[index] = []
            pending.extend((index, part) for part in parts)
            while len(pending) >= self.batch_segments:
                self._flush(pending[: self.batch_segments], results)
                del pending[: self.batch_segments]
            while next_out in counts and len(results[next_out]) == counts[next_out]:
                yield self._mean(results.pop(next_out))
                progress.update()
                next_out += 1
        if pending:
            self._flush(pending, results)
        while next_out in counts:
            yield self._mean(results.pop(next_out))
            progress.update()
            next_out += 1
        progress.close()

    def _flush(self, batch: list[tuple[int, np.ndarray]], results: dict[int, list[np.ndarray]]) -> None:
        rows = self._run([segment for _, segment in batch])
        for (index, _), row in zip(batch, rows):
            results[index].append(row)

    @staticmethod
    def _mean(rows: list[np.ndarray]) -> dict[str, float]:
        mean = np.mean(np.stack(rows), axis=0)
        return dict(zip(COLUMNS.values(), (float(v) for v in mean)))
