"""artkit_style: built-in artkit plugin (registrations arrive with their issue)."""
