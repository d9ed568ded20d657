"""Official notices: GB/T 9704 PDF rendering from plain snapshots of facts."""
