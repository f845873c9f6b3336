"""Small ADaM studies, one per real-world convention, each written as CSV files into a folder with the
numbers a correct analysis of it must give (computed in the module with plain pandas, never by trialviz)."""
