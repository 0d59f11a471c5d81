"""artkit_gan: built-in artkit plugin (registrations arrive with their issue)."""
