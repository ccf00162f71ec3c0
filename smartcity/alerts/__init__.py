"""Rules, alarms and early-warning bulletins: CAP 1.2 messages and China's warning hazards and colours."""
