"""The enforcement policy as data: states, transitions, guards, deadline rules, the calendar. Pure Python."""
