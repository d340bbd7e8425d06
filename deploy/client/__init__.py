"""What an app does with imgpipe's client API: sign in, ask for signed forms, send the files
straight to S3, follow each image until it is processed, and read or delete it.

`imgpipe demo`, the locust load test and the README's examples go through this package, so
what they measure and show is what an app sees. It speaks HTTP only (no AWS credentials),
except `signin`, which asks the deployment's Cognito user pool for tokens as an app would.
"""

from deploy.client.api import ApiError, ImgpipeApi, UploadRefused, content_type_of

__all__ = ["ApiError", "ImgpipeApi", "UploadRefused", "content_type_of"]
