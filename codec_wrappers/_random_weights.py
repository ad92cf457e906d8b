"""Random weights whose output follows the input, so tests on random-weight codecs can fail.

Untrained codecs built with PyTorch's default initialisation shrink the signal at every layer (each convolution's
gain is about 1/sqrt(3)) until the biases alone drive the decoder: a random EnCodec then gives the same waveform for
silence and for noise (correlation 0.99998). Three steps make the output depend on the input, as a trained codec's
does, without training:

1. `balance_gains`: zero the biases of every convolution and linear layer and scale each one so its output has the
   standard deviation of its input on a speech-like probe (layer-sequential unit-variance initialisation, done in
   one forward pass). Silence then stays silence and loud frames stay louder than quiet ones.
2. Codebooks drawn from the (balanced) encoder's own output frames on the probe, layer by layer on the residuals,
   as upstream k-means initialisation starts (`sample_frames`, `residual_codebooks`).
3. `balance_gains` again through the whole encode/decode, for the layers after the quantizer.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, Iterable
from unittest import mock

import torch

#: Layers whose gains are balanced. Normalisation layers are left alone (they are scale-free already).
BALANCED_LAYERS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d,
                   torch.nn.Linear)


#: Output level (ratio to the probe's) beyond which `balance_through_codec` rescales the last layer.
LEVEL_TOLERANCE = 10.0
#: Jitter of codebook entries around the frames they are drawn from, in units of the frames' per-channel spread.
JITTER = 0.25
#: Floor of the probe's STFT magnitudes in `fit_level_readout` (its pauses are true silence), relative to their
#: peak.
MAGNITUDE_FLOOR = 1e-4


def speech_like_probe(sample_rate: int, seed: int, seconds: float = 2.0) -> torch.Tensor:
    """[1, 1, T] seeded speech-like signal: voiced syllables (harmonics of a gliding pitch, formant-like spectral tilt)
    and unvoiced bursts at peak levels spread over 30 dB, separated by pauses of true silence."""
    generator = torch.Generator().manual_seed(seed)
    total = int(seconds * sample_rate)
    t = torch.arange(total) / sample_rate
    out = torch.zeros(total)
    start = int(0.05 * sample_rate)
    while start < total:
        length = int(sample_rate * (0.08 + 0.22 * torch.rand(1, generator=generator).item()))
        stop = min(start + length, total)
        span = t[start:stop] - t[start]
        level = 10 ** (-1.5 * torch.rand(1, generator=generator).item()) * 0.6
        if torch.rand(1, generator=generator).item() < 0.75:  # voiced
            f0 = 90 + 160 * torch.rand(1, generator=generator).item()
            pitch = f0 * (1 + 0.1 * torch.sin(2 * math.pi * 3 * span))
            phase = 2 * math.pi * torch.cumsum(pitch, 0) / sample_rate
            harmonics = torch.arange(1, int(min(4000, sample_rate / 2) // f0) + 1)
            weights = torch.rand(len(harmonics), generator=generator) / harmonics
            segment = (weights[:, None] * torch.sin(harmonics[:, None] * phase[None])).sum(0)
        else:  # unvoiced
            segment = torch.randn(stop - start, generator=generator)
        envelope = torch.sin(math.pi * torch.linspace(0, 1, stop - start)) ** 2
        out[start:stop] = level * envelope * segment / (segment.abs().max() + 1e-9)
        pause = int(sample_rate * 0.1 * torch.rand(1, generator=generator).item())
        start = stop + pause
    return out[None, None]


def scale_weight(layer: torch.nn.Module, factor: float) -> None:
    """Multiply the layer's effective weight by `factor`, through its weight-norm gain where it has one."""
    if hasattr(layer, "weight_g"):  # torch.nn.utils.weight_norm (hook style)
        layer.weight_g.mul_(factor)
    elif hasattr(layer, "parametrizations") and hasattr(layer.parametrizations, "weight"):
        layer.parametrizations.weight.original0.mul_(factor)  # torch.nn.utils.parametrizations.weight_norm
    else:
        layer.weight.mul_(factor)


@torch.no_grad()
def balance_gains(model: torch.nn.Module, run: Callable[[], object], skip: Iterable[torch.nn.Module] = ()) -> dict:
    """Zero the biases of `model`'s recurrent layers, and of its convolutions and linear layers reached by `run()`,
    and scale each so its output's standard deviation equals its input's. One pass: each layer's hook rescales its
    own output too, so the layers after it already see balanced input. Layers in `skip` are untouched. Returns
    {layer: its output's standard deviation once balanced} for the layers balanced, in call order."""
    skipped = set(skip)
    layers = [m for m in model.modules() if isinstance(m, BALANCED_LAYERS) and m not in skipped]
    done: dict = {}

    def hook(layer, inputs, output):
        if layer in done or not isinstance(output, torch.Tensor):
            return None
        done[layer] = output.float().std().item()
        x = inputs[0]
        if layer.bias is not None:  # output is linear in the weight once the bias is gone
            output = output - _bias_shape(layer, output)
            layer.bias.zero_()
        spread_in, spread_out = x.float().std().item(), output.float().std().item()
        if not (spread_in > 0 and spread_out > 0 and math.isfinite(spread_in / spread_out)):
            return output
        factor = spread_in / spread_out
        scale_weight(layer, factor)
        done[layer] = spread_in
        return output * factor

    for rnn in (m for m in model.modules() if isinstance(m, torch.nn.RNNBase) and m not in skipped):
        for name, parameter in rnn.named_parameters():
            if name.startswith("bias"):
                parameter.zero_()
    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return done


def _bias_shape(layer, output):
    """The layer's bias broadcast against its output (channels last for Linear, second for convolutions)."""
    if isinstance(layer, torch.nn.Linear):
        return layer.bias
    return layer.bias.view(1, -1, *([1] * (output.dim() - 2)))


def sample_frames(frames: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """`size` rows of `frames` [N, D] drawn at random (without replacement while N allows), as k-means init does."""
    if frames.shape[0] >= size:
        return frames[torch.randperm(frames.shape[0], generator=generator)[:size]].clone()
    return frames[torch.randint(frames.shape[0], (size,), generator=generator)].clone()


def residual_codebooks(frames: torch.Tensor, layers: int, size: int, seed: int) -> torch.Tensor:
    """[layers, size, D] Euclidean residual-VQ codebooks from the encoder output `frames` [N, D] on the probe.

    The frames are split in two random halves; layer k draws its entries from the residuals the first k layers leave
    of one half (alternating), each jittered by `JITTER` times their per-channel spread. A probe has fewer frames
    than a codebook has entries, so the half a layer was drawn from is then reproduced almost exactly; the other half
    keeps a residual of realistic size for the next layer to quantize."""
    generator = torch.Generator().manual_seed(seed)
    residual = frames.float().clone()
    halves = torch.randperm(len(residual), generator=generator).chunk(2)
    books = []
    for layer in range(layers):
        source = residual[halves[layer % len(halves)]]
        book = sample_frames(source, size, generator)
        book += JITTER * source.std(0) * torch.randn(book.shape, generator=generator)
        residual -= book[torch.cdist(residual, book).argmin(1)]
        books.append(book)
    return torch.stack(books)


def fill_kmeans_codebooks(layers, frames: torch.Tensor, seed: int) -> None:
    """Draw `residual_codebooks` from the encoder output `frames` [N, D] and write each into its layer's EnCodec-style
    EuclideanCodebook (`_codebook`: embed, embed_avg, cluster_size), marked initialised, so no k-means runs on the
    first input (EnCodec, Vocos' EnCodec features, SpeechTokenizer share this quantizer)."""
    books = residual_codebooks(frames, len(layers), layers[0]._codebook.embed.shape[0], seed)
    for layer, book in zip(layers, books):
        codebook = layer._codebook
        codebook.embed.copy_(book)
        codebook.embed_avg.copy_(book)
        codebook.cluster_size.fill_(1.0)
        codebook.inited.fill_(1.0)


def balance_through_codec(wrapper, model: torch.nn.Module, probe: torch.Tensor, skip: Iterable = ()) -> dict:
    """Step 3: `balance_gains` over the wrapper's own encode/decode (`wrapper.codec`) of the [1, 1, T] probe, for
    every layer not in `skip` (those balanced before the codebooks were drawn).

    Residual blocks add branch and skip, so the level still grows block by block (x5000 through DAC's decoder),
    which would saturate a final tanh. Where the output's level ends up more than `LEVEL_TOLERANCE` away from the
    probe's, the last layer is rescaled so its output has the probe's level."""
    previous, wrapper.model = wrapper.model, model
    outputs = []
    try:
        done = balance_gains(model, lambda: outputs.append(wrapper.codec(probe[:, 0])), skip=skip)
    finally:
        wrapper.model = previous
    level, target = outputs[0].std().item(), probe.std().item()
    if done and not 1 / LEVEL_TOLERANCE < level / target < LEVEL_TOLERANCE:
        last, last_level = list(done.items())[-1]
        scale_weight(last, target / last_level)
    return done


def _fit_back_projection(layer: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Set a 1x1 convolution's weight (through its weight norm where it has one) to the least-squares map from
    `inputs` [N, d] to `targets` [N, D], and its bias to zero."""
    weight = torch.linalg.lstsq(inputs, targets).solution.T.reshape(layer.weight.shape)
    if hasattr(layer, "weight_g"):
        layer.weight_v.copy_(weight)
        layer.weight_g.copy_(weight.flatten(1).norm(dim=1).view_as(layer.weight_g))
    elif hasattr(layer, "parametrizations") and hasattr(layer.parametrizations, "weight"):
        layer.parametrizations.weight.original1.copy_(weight)
        layer.parametrizations.weight.original0.copy_(weight.flatten(1).norm(dim=1).view_as(
            layer.parametrizations.weight.original0))
    else:
        layer.weight.copy_(weight)
    if layer.bias is not None:
        layer.bias.zero_()


@torch.no_grad()
def fill_factorized_codebooks(layers, latents: torch.Tensor, seed: int, pool=None) -> None:
    """DAC-style residual VQ layers (in_proj, codebook Embedding looked up by cosine, out_proj) from encoder latents
    [1, D, T]: per layer, balance in_proj, draw the codebook from its projected frames (jittered), fit out_proj to map
    them back to the residual (a random out_proj would add as much as it removes: the residual, and with it the
    decoder's input, would grow x1.4 per layer), then pass the residual on. `pool(layer, residual)` is what the
    layer sees of the residual (SNAC pools it by the layer's stride). A Linear in_proj/out_proj (FACodec's) runs
    channels last."""
    generator = torch.Generator().manual_seed(seed)
    residual = latents
    for layer in layers:
        seen = pool(layer, residual) if pool is not None else residual
        linear = isinstance(layer.in_proj, torch.nn.Linear)
        project = partial(_channels_last, layer.in_proj) if linear else layer.in_proj
        balance_gains(layer.in_proj, partial(project, seen))
        projected = project(seen)
        frames = projected[0].T
        book = sample_frames(frames, layer.codebook.weight.shape[0], generator)
        book += JITTER * frames.std(0) * torch.randn(book.shape, generator=generator)
        layer.codebook.weight.copy_(book)
        _fit_back_projection(layer.out_proj, projected[0].T, seen[0].T)
        residual = residual - layer(residual)[0]


def _channels_last(layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A channels-last layer (Linear) applied to [B, C, T]."""
    return layer(x.transpose(1, 2)).transpose(1, 2)


class _Recorded(Exception):
    """Stops `model.encode` once the quantizer's input is recorded."""


@torch.no_grad()
def balanced_quantizer_input(model, probe: torch.Tensor, method: str = "encode") -> tuple[torch.Tensor, dict]:
    """Balance the gains of the layers `model.encode` runs before its quantizer on the [1, 1, T] `probe`
    (`balance_gains`); returns the [1, D, frames] embeddings it then hands to the quantizer's `method` (`encode`
    for transformers' codecs, `forward` where encode calls the quantizer module itself), and the layers balanced."""
    seen = []

    def record(embeddings, *args, **kwargs):
        seen.append(embeddings.detach())
        raise _Recorded

    def encode():
        with mock.patch.object(model.quantizer, method, record):
            try:
                model.encode(probe)
            except _Recorded:
                pass

    done = balance_gains(model, encode)
    seen.clear()
    encode()
    return seen[0], done


@torch.no_grad()
def level_reference(layer: torch.nn.Module, outputs: torch.Tensor, seed: int) -> torch.Tensor:
    """Give `layer` (the convolution before a decoder's first LayerNorm) a bias that LayerNorm can measure loudness
    against, and return its unit direction [D].

    LayerNorm divides each frame by its own spread, so a frame's scale, which carries its loudness, is lost right
    there; trained decoders keep it through a fixed offset whose share of the normalised frame shrinks as the frame
    grows. The offset here is a seeded zero-mean direction as long as the median frame of `outputs` [N, D] (what
    the layer gives on the probe), so the share follows loudness over the range where speech frames lie."""
    generator = torch.Generator().manual_seed(seed)
    direction = torch.randn(outputs.shape[1], generator=generator)
    direction = direction - direction.mean()
    direction = direction / direction.norm()
    layer.bias.copy_(direction * (outputs - outputs.mean(1, keepdim=True)).norm(dim=1).median())
    return direction


@torch.no_grad()
def fit_level_readout(layer: torch.nn.Linear, rows: slice, features: torch.Tensor, direction: torch.Tensor,
                      magnitudes: torch.Tensor) -> None:
    """Make the `rows` of a Linear head that give a log-magnitude spectrum (Vocos' ISTFT head) follow the frame's
    level as it is read along `direction` (`level_reference`) of the head's input `features` [N, D].

    Each row gets the weight a * direction and the bias of the probe's average log-magnitude of its bin, where a
    (one number, fitted by least squares on the probe) maps the projection to the probe's per-frame log-level
    (mean log-magnitude of `magnitudes` [N, F] over bins). The spectral shape stays the probe's average; only the
    level follows the frame. One fitted number cannot learn the probe by heart."""
    log_magnitude = torch.log(magnitudes.clamp(min=MAGNITUDE_FLOOR * magnitudes.max().item()))
    level = log_magnitude.mean(1)
    projection = features @ direction
    centred = projection - projection.mean()
    slope = (centred @ (level - level.mean())) / (centred @ centred)
    layer.weight[rows] = slope * direction
    layer.bias[rows] = log_magnitude.mean(0) - slope * projection.mean()
