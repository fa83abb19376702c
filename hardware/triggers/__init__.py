"""Pulse sources: "a pulse happened now" from a trigger cable, LSL or a key, on the tracker's clock.

* :mod:`.ttl_serial` - a TTL-to-serial adapter sending one byte per trigger-out edge;
* :mod:`.modem_lines` - a serial port's CTS/DSR/RI/CD input wired to the trigger-out;
* :mod:`.lsl_markers` - Lab Streaming Layer markers sent by the stimulus program;
* :mod:`.key_source` - a footswitch or keyboard key (pure logic the app feeds);
* :mod:`.lsl_emg` - not a pulse source: an EMG stream buffered for MEPs around pulses;
* :mod:`.config` - the spec strings (``ttl:/dev/ttyUSB0``, ``modem:/dev/ttyS0:CTS``, ...).

Users' guide: docs/treatment.md, "Trigger cables and pulse sources".
"""
