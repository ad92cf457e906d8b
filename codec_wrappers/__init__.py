"""Codec wrappers: one module per codec family behind one small interface (codec_wrappers.base.CodecWrapper).

Each module exposes its class as ``WRAPPER``. This package imports nothing from `codecfake`: the pipeline
(codecfake.codec_loading) picks a wrapper by the registry entry's `wrapper` name and hands it verified
checkpoint files.
"""
