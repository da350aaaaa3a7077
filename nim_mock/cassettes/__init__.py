"""The cassette file format: decode, encode, persist, and the checks a committed file must pass.

The bottom layer of the mock: it imports nothing from serving, recording or the plugin.
``decode``/``encode`` are the pure halves of format v1, ``persist`` reads and writes files,
``secrets`` spots credentials, ``canonical`` defines request equality and ignore paths,
``naming`` maps tests to cassette names, ``check`` lints folders, ``listing`` tabulates them.
"""
