"""Deployment tooling: CloudFormation templates and the scripts that build and deploy them.

Never shipped to Lambda (`chalice package` takes only app.py and chalicelib/).
"""
