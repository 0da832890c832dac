"""Settings modules: ``local`` (embedded default), ``production`` and ``test``.

Everything that differs between machines comes from the environment (see README,
"Configuration"); the modules only decide the defaults.
"""
