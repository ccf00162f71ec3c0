"""The demo city: Shanghai's city and district departments, a synthetic street and community, one account per role."""
