"""Survey definitions: the pure types (model) and loading YAML files into them (load)."""

from surveys.definition.load import (
    builtin_slugs,
    definitions_dir,
    load_builtin,
    load_definition,
    survey_title,
)
from surveys.definition.model import (
    ADD_ANOTHER,
    LANGS,
    QUESTION_TYPES,
    AlertRule,
    Choice,
    DefinitionError,
    Lang,
    Localized,
    Question,
    SurveyDefinition,
    localize,
)

__all__ = [
    "ADD_ANOTHER",
    "LANGS",
    "QUESTION_TYPES",
    "AlertRule",
    "Choice",
    "DefinitionError",
    "Lang",
    "Localized",
    "Question",
    "SurveyDefinition",
    "builtin_slugs",
    "definitions_dir",
    "load_builtin",
    "load_definition",
    "localize",
    "survey_title",
]
