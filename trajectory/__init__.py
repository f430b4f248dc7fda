"""Pure domain of participant trajectories: phases, milestones, partner programmes and rules.

Nothing in this package performs I/O beyond reading its own packaged data files.
"""
