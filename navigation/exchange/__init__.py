"""Exchange with the tools clinics and labs already use: Brainsight text, Localite XML,
SimNIBS coil positions and BIDS-style course folders (docs/exchange.md).

Modules: ``brainsight``, ``localite``, ``simnibs`` (readers and writers), ``bids`` (course
export), ``poses`` (each tool's coil axes mapped onto ours, checks on imported poses),
``detect`` (which format a file is, what it looks like when it is none), ``scalp_fit`` (imported
targets against the open head), ``common`` (the returned records, all-or-nothing writes),
``errors`` (ExchangeError).
"""
