import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * pgjdbc through TierGate: java -cp postgresql.jar JdbcProbe.java URL USER PASSWORD SQL.
 * Prints each row as values joined by '|', or "ERROR sqlstate message" (exit 2).
 */
public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        try (Connection connection = DriverManager.getConnection(args[0], args[1], args[2]);
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(args[3])) {
            ResultSetMetaData columns = rows.getMetaData();
            while (rows.next()) {
                StringBuilder line = new StringBuilder();
                for (int i = 1; i <= columns.getColumnCount(); i++) {
                    if (i > 1) line.append('|');
                    line.append(rows.getString(i));
                }
                System.out.println(line);
            }
        } catch (SQLException e) {
            System.out.println("ERROR " + e.getSQLState() + " " + e.getMessage());
            System.exit(2);
        }
    }
}
