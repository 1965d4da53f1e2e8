"""Everything that talks to the world: storage, HTTP, the command line."""
