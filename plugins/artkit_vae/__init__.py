"""artkit_vae: built-in artkit plugin (registrations arrive with their issue)."""
