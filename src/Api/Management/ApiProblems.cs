using Microsoft.AspNetCore.Http.HttpResults;

namespace Stepcast.Api.Management;

/// <summary>
/// RFC 7807 answers of the management API. Validation problems name the offending field; so do the 404, 409 and 415
/// answers given a field, which carry it under <c>errors</c> as a validation problem does.
/// </summary>
public static class ApiProblems
{
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: $"Invalid {field}");

    public static ValidationProblem Invalid(IReadOnlyDictionary<string, List<string>> errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult NotFound(string field, string message) => NamingField(StatusCodes.Status404NotFound, "Not found", field, message);

    public static ProblemHttpResult ChannelNotFound(string? channelId) =>
        NotFound($"This API key's tenant has no channel '{channelId}'.");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static ProblemHttpResult Conflict(string field, string message) => NamingField(StatusCodes.Status409Conflict, "Conflict", field, message);

    public static ProblemHttpResult UnsupportedMediaType(string message) =>
        NamingField(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Content-Type", message);

    private static ProblemHttpResult NamingField(int status, string title, string field, string message) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = status,
            Title = title,
            Detail = message,
        });
}

/// <summary>Collects validation problems field by field.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public FieldErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }

        messages.Add(message);
        return this;
    }

    public void Required(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"'{field}' is required.");
        }
    }

    /// <summary>An id that is safe in a grain key and a URL: letters, digits, '-', '_', '.', ':', '@', up to <paramref name="max"/>.</summary>
    public void Identifier(string field, string? value, int max = 100)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, $"'{field}' is required.");
        }
        else if (value.Length > max || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '@'))
        {
            Add(field, $"'{field}' must be 1–{max} letters, digits, '-', '_', '.', ':' or '@'.");
        }
    }

    public ValidationProblem ToProblem() => ApiProblems.Invalid(_errors);
}
