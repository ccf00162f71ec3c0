"""What every module needs and nothing domain-specific: database, errors, events, audit, security, web."""
