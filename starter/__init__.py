"""Everything that starts trajectories or talks to them from outside: API, CLI, demo."""
