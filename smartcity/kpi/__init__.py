"""Plan indicators (KPI): the plan's targets as a catalogue, values entered with their sources or computed from the
platform's own data, progress, trends and the yearly evaluation report (plan §6.7)."""
