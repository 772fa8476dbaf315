"""The data layer: MovieLens releases, their parsers, user files, the rating structure,
splits and synthetic ratings. Nothing here knows about models."""
