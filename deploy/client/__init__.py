"""What an app does with imgpipe's client API: sign in, ask for signed forms, send the files
straight to S3, follow each image until it is processed, and read or delete it.

`imgpipe demo`, the locust load test and the README's examples go through this package, so
what they measure and show is what an app sees. It needs no AWS credentials: `signin` asks the
deployment's Cognito user pool for tokens as an app would, the rest is HTTP.
"""

from deploy.client.api import ApiError, ImgpipeApi, UploadRefused, content_type_of
from deploy.client.signin import TokenSource, password_sign_in

__all__ = ["ApiError", "ImgpipeApi", "TokenSource", "UploadRefused", "content_type_of", "password_sign_in"]
