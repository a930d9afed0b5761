"""Errors for bad photos and photos in which no usable person is found.

Each carries one sentence that names the photo and says what to do (see ``core.errors``).
"""

from ..errors import LcaError


class PhotoError(LcaError):
    """A photo cannot be read: missing, empty, corrupt, not an image, unsupported or too small."""


class PerceptionError(LcaError):
    """A photo was read but does not show one usable person."""


class NoPersonError(PerceptionError):
    """No person was found in the photo."""


class SeveralPeopleError(PerceptionError):
    """More than one person was found and none was chosen (or the chosen one cannot be used)."""


class PersonCutOffError(PerceptionError):
    """The person's head or feet are outside the frame or hidden."""


class PersonTooSmallError(PerceptionError):
    """The person covers too little of the photo to be perceived reliably."""


class BackViewOnlyError(PerceptionError):
    """Every photo shows the person from behind: there is nothing to make the face from."""


class DifferentPeopleError(PerceptionError):
    """The photos disagree about the person's colours where they see the same body."""


class CloseUpOnlyError(PerceptionError):
    """Every photo is a face close-up: there is no body to fit."""
