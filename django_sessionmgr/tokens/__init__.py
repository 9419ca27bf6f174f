"""Token sessions: API tokens and app logins as ``UserSession`` rows.

``core`` holds what every package shares; one adapter module per package
(``drf``, ``knox``, ``jwt``, ``allauth_headless``) hooks it into that
package's extension points, importing the package only there.
"""
