"""Signing connectors (kind ``signing``): PAdES signatures on result PDFs, and their verification.

* ``local_signing/sign_pdf`` signs with a PKCS#12 key held by this installation
  (embedded mode uses the test CA from :func:`create_test_ca`);
* ``remote_signing/sign_pdf`` asks a remote-signing service for a signature over a hash,
  which the official approves on their phone;
* :func:`verify_pdf` answers the public verification page (who signed, when, intact?), and
  :func:`verification_code` gives each signed file a short code to look it up by.

Both operations make the workflow wait for their result (``waits_for_result=True``).
"""

from .codes import normalise_verification_code, verification_code
from .local import LocalSigningConnector
from .pades import InvalidPdf, load_signer, sample_pdf, sign_pdf_pades
from .remote import RemoteSigningConnector
from .test_ca import TestCA, create_test_ca
from .verify import SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "InvalidPdf",
    "LocalSigningConnector",
    "RemoteSigningConnector",
    "SignatureReport",
    "TestCA",
    "VerificationReport",
    "create_test_ca",
    "load_signer",
    "normalise_verification_code",
    "sample_pdf",
    "sign_pdf_pades",
    "verification_code",
    "verify_pdf",
]
