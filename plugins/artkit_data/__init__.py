"""artkit_data: built-in artkit plugin (registrations arrive with their issue)."""
