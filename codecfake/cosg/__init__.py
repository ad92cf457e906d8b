"""CoSG generation: codec-based TTS (MaskGCT first) speaking prompt lists built as CodecFake+ built them.

prompts  prompt lists (VCTK next-transcript pairing; the E2 TTS LibriSpeech-PC list)
generate one (set, split, shard) generation job: generated speech and its bona fide prompt at 16 kHz
protocol a set's per-split CoSG protocol, manifest, rejects and provenance card
utmos    UTMOS of a set's files (the scorer of codecfake.quality)
plan     what rules/cosg.smk needs at parse time
"""
