"""The version of twomass_vo."""

version = "0.1.0.dev0"
