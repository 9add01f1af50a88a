"""Fetching and parsing sources into ArticleDrafts; extraction and sanitising."""
