"""Side effects of a trajectory: the only code a workflow reaches the outside world through."""
