using Microsoft.AspNetCore.Http.HttpResults;

namespace Stepcast.Api.Management;

/// <summary>RFC 7807 answers of the management API; validation problems name the offending field.</summary>
public static class ApiProblems
{
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: $"Invalid {field}");

    public static ValidationProblem Invalid(IReadOnlyDictionary<string, List<string>> errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));

    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult ChannelNotFound(string? channelId) =>
        NotFound($"This API key's tenant has no channel '{channelId}'.");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");
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
