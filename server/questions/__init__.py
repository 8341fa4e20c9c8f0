"""Questions: viewers mark chat messages as questions; the host answers and pins one."""
