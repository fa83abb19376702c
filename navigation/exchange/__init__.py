"""Exchange with the tools clinics and labs already use: Brainsight text, Localite XML,
SimNIBS coil positions and BIDS-style course folders (docs/exchange.md).
"""
