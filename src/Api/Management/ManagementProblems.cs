using Microsoft.AspNetCore.Http.HttpResults;

namespace Stepcast.Api.Management;

/// <summary>RFC 7807 problem details for the management API; every one names the field (or route value) at fault under <c>errors</c>.</summary>
public static class ManagementProblems
{
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult NotFound(string field, string message) => WithStatus(StatusCodes.Status404NotFound, "Not found", field, message);

    public static ProblemHttpResult Conflict(string field, string message) => WithStatus(StatusCodes.Status409Conflict, "Conflict", field, message);

    public static ProblemHttpResult UnsupportedMediaType(string message) =>
        WithStatus(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Content-Type", message);

    private static ProblemHttpResult WithStatus(int status, string title, string field, string message) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = status,
            Title = title,
            Detail = message,
        });
}
