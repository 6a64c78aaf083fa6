"""The clerk-hasura package's provider plugin (components/package.py)."""

from components.package import serve_package

if __name__ == "__main__":
    serve_package()
