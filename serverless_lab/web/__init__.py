"""The site shell: home page, navigation, error pages and placeholder pages."""
