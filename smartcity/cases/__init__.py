"""Urban grid management (数字化城市管理): the class catalogue, and — as the module grows — components,
cases and their closed loop, dispatch and evaluation."""
