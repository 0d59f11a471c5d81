"""artkit_post: built-in artkit plugin (registrations arrive with their issue)."""
