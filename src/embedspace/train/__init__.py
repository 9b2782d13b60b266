"""Training recipes (torch; optional extra). Nothing here runs at search time."""
