"""CoSG generator wrappers: one module per codec-based TTS behind one small interface (cosg_wrappers.base).

Each module exposes its class as ``WRAPPER``. As codec_wrappers, this package imports nothing from `codecfake`: the
pipeline (codecfake.generation) picks a wrapper by the registry entry's `wrapper` name and hands it verified
checkpoint files.
"""
