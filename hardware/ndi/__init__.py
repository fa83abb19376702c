"""NDI Combined API (Polaris Vicra/Spectra/Vega, Aurora): wire codec, driver and device emulator."""
