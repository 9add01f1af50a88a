"""Use cases called by the CLI, the web app and the tasks. Each takes Settings and plain
values, opens its own session, and returns plain data."""
