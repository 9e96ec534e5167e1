"""Lessons: Markdown course content, its pages, and (later) exercises and progress."""
