"""Errors the package raises on purpose. Their messages are shown to users as they are."""


class QAError(Exception):
    """Base class: something the user can fix; the message says what and how."""


class ConfigError(QAError, ValueError):
    """A setting has a value it cannot take."""


class QuestionError(QAError, ValueError):
    """The question cannot be asked as it is (empty, too long)."""


class CorpusError(QAError):
    """The corpus folder is missing or holds no readable document."""


class IndexMissingError(QAError):
    """No index where one was expected."""


class IndexCorruptError(QAError):
    """Index files are damaged or disagree with each other."""


class StaleIndexError(QAError):
    """The index no longer matches the corpus or the configured model."""


class EmbedderError(QAError):
    """The embedding model could not be loaded."""


class BuildCancelled(QAError):
    """An index build was stopped before it finished; the previous index is still in place."""


class UploadError(QAError):
    """A file cannot be added to the corpus (type, size, name or duplicate)."""
